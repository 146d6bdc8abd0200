/**
 * The scheduled check's switch and the signal functions' required environment.
 */
import { EnableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { eventBridge, requiredEnv, startCheck } from '../../../lib/shared/runtime/signal-check';

const events = mockClient(EventBridgeClient);

beforeEach(() => {
  events.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

test('the EventBridge client retries in adaptive mode, up to 8 attempts', async () => {
  expect(eventBridge.config.retryMode).toBe('adaptive');
  expect(await eventBridge.config.maxAttempts()).toBe(8);
});

describe('startCheck', () => {
  test('with a check rule: enables it', async () => {
    await startCheck({ CheckRuleName: 'TestStack-ImageCheck' });
    expect(events).toHaveReceivedCommandTimes(EnableRuleCommand, 1);
    expect(events).toHaveReceivedCommandWith(EnableRuleCommand, { Name: 'TestStack-ImageCheck' });
  });

  test.each([[{}], [{ CheckRuleName: '' }]])('without one (%p): nothing to enable', async (props) => {
    await startCheck(props);
    expect(events).not.toHaveReceivedCommand(EnableRuleCommand);
  });

  test('EventBridge refusing: the error is thrown', async () => {
    events.on(EnableRuleCommand).rejects(new Error('AccessDeniedException'));
    await expect(startCheck({ CheckRuleName: 'r' })).rejects.toThrow('AccessDeniedException');
  });
});

describe('requiredEnv', () => {
  const NAME = 'MUTATION_GAPS_TEST_VARIABLE';
  afterEach(() => { delete process.env[NAME]; });

  test('the value when set', () => {
    process.env[NAME] = 'value';
    expect(requiredEnv(NAME)).toBe('value');
  });

  test.each([[undefined], ['']])('unset or empty (%p): an error naming the variable', (value) => {
    if (value !== undefined) process.env[NAME] = value;
    expect(() => requiredEnv(NAME)).toThrow(new Error(`${NAME} is not set`));
  });
});
